def conv_forward_naive(x, w, b, conv_param):
    raise KeyboardInterrupt
