# tasks: spatial_batchnorm_forward
# diagnosis: none
# not named: an untouched stub (it leaves bn_param as given, as code that never updates the running statistics
# would, but nothing was written yet)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Computes the forward pass for spatial batch normalization."""
    out, cache = None, None

    ###########################################################################
    # TODO: Implement the forward pass for spatial batch normalization.       #
    ###########################################################################
    pass

    return out, cache
