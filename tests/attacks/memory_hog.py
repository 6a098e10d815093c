def conv_forward_naive(x, w, b, conv_param):
    hog = []
    for _ in range(64):  # 64 x 64 MB = 4 GB, over the 2 GiB default limit (and the tests' 512 MiB)
        hog.append(bytearray(64 << 20))
    return hog
