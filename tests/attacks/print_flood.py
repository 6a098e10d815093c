import os


def conv_forward_naive(x, w, b, conv_param):
    for _ in range(50_000):  # 6 MB of text, a hundred times what a call keeps
        print("flood " * 20)
    os.write(1, b"raw flood\n" * 100_000)
    raise RuntimeError("printed a flood")
