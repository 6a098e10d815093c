import os


def conv_forward_naive(x, w, b, conv_param):
    for _ in range(200_000):
        print("flood " * 20)
    os.write(1, b"raw flood\n" * 100_000)
    raise RuntimeError("printed a flood")
