import ctypes


def conv_forward_naive(x, w, b, conv_param):
    ctypes.string_at(0)
