# tasks: three_layer_convnet
# fails: loss and every gradient, dtype honoured in the computation, overfit
# Right gradients, and a loss that is a Python int too large for a float: the loss checks must fail
# with a message, not raise in the grader (the Solver, in the child, cannot train with it either).
_ReferenceNet = ThreeLayerConvNet  # noqa: F821


class ThreeLayerConvNet(_ReferenceNet):
    def loss(self, X, y=None):
        result = super().loss(X, y)
        if y is None:
            return result
        return 10 ** 400, result[1]
