"""The dropout functions as slots a mutant can replace, each dropout catalog mistake in several forms, and
correct ways of drawing masks that must get full marks (used by tests/mutants.py).

Slot values are whole lines without indentation ("\n" separates several lines); a slot set to "" is left out.
"""
from __future__ import annotations

from mutant_records import Expected, Mutant

FORWARD = "forward_propagation_with_dropout"
BACKWARD = "backward_propagation_with_dropout"
R1, R2 = "D1 = np.random.rand(A1.shape[0], A1.shape[1])", "D2 = np.random.rand(A2.shape[0], A2.shape[1])"
GRADS_2 = ("dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1")


def forward_source(slots: dict) -> str:
    lines = {
        "signature": "def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):",
        "seed": "np.random.seed(1)",
        "weights": 'W1 = parameters["W1"]\nb1 = parameters["b1"]\nW2 = parameters["W2"]\nb2 = parameters["b2"]\n'
                   'W3 = parameters["W3"]\nb3 = parameters["b3"]',
        "Z1": "Z1 = np.dot(W1, X) + b1",
        "A1": "A1 = relu(Z1)",
        "draw1": R1,
        "mask1": "D1 = (D1 < keep_prob).astype(int)",
        "apply1": "A1 = A1 * D1",
        "scale1": "A1 = A1 / keep_prob",
        "Z2": "Z2 = np.dot(W2, A1) + b2",
        "A2": "A2 = relu(Z2)",
        "draw2": R2,
        "mask2": "D2 = (D2 < keep_prob).astype(int)",
        "apply2": "A2 = A2 * D2",
        "scale2": "A2 = A2 / keep_prob",
        "Z3": "Z3 = np.dot(W3, A2) + b3",
        "A3": "A3 = sigmoid(Z3)",
        "cache": "cache = (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)",
        "return": "return A3, cache",
    }
    lines.update(slots)
    order = ("seed", "weights", "Z1", "A1", "draw1", "mask1", "apply1", "scale1", "Z2", "A2", "draw2", "mask2",
             "apply2", "scale2", "Z3", "A3", "cache", "return")
    return _function(FORWARD, lines, order)


def backward_source(slots: dict) -> str:
    lines = {
        "signature": "def backward_propagation_with_dropout(X, Y, cache, keep_prob):",
        "m": "m = X.shape[1]",
        "unpack": "(Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache",
        "dZ3": "dZ3 = A3 - Y",
        "dW3": "dW3 = 1./m * np.dot(dZ3, A2.T)",
        "db3": "db3 = 1./m * np.sum(dZ3, axis=1, keepdims=True)",
        "dA2": "dA2 = np.dot(W3.T, dZ3)",
        "mask2": "dA2 = dA2 * D2",
        "scale2": "dA2 = dA2 / keep_prob",
        "dZ2": "dZ2 = np.multiply(dA2, np.int64(A2 > 0))",
        "dW2": "dW2 = 1./m * np.dot(dZ2, A1.T)",
        "db2": "db2 = 1./m * np.sum(dZ2, axis=1, keepdims=True)",
        "dA1": "dA1 = np.dot(W2.T, dZ2)",
        "mask1": "dA1 = dA1 * D1",
        "scale1": "dA1 = dA1 / keep_prob",
        "dZ1": "dZ1 = np.multiply(dA1, np.int64(A1 > 0))",
        "dW1": "dW1 = 1./m * np.dot(dZ1, X.T)",
        "db1": "db1 = 1./m * np.sum(dZ1, axis=1, keepdims=True)",
        "return": 'return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,\n'
                  '        "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}',
    }
    lines.update(slots)
    order = ("m", "unpack", "dZ3", "dW3", "db3", "dA2", "mask2", "scale2", "dZ2", "dW2", "db2", "dA1", "mask1",
             "scale1", "dZ1", "dW1", "db1", "return")
    return _function(BACKWARD, lines, order)


def _function(name: str, lines: dict, order: tuple[str, ...]) -> str:
    body = "\n".join("    " + lines[key].replace("\n", "\n    ") for key in order if lines[key])
    return f"# GRADED FUNCTION: {name}\n\n{lines['signature']}\n{body}\n"


def forward(mistake: str, outputs: tuple[str, ...], line: str) -> Expected:
    return Expected(f"dropout.{mistake}", outputs, line, FORWARD)


def backward(mistake: str, outputs: tuple[str, ...], line: str) -> Expected:
    return Expected(f"dropout-backward.{mistake}", outputs, line, BACKWARD)


def dropout_mutants() -> list[Mutant]:
    both_randn = {"draw1": R1.replace("rand(", "randn("), "draw2": R2.replace("rand(", "randn(")}
    return [
        # Masks drawn wrongly.
        Mutant("dropout-randn-both", forward=both_randn,
               expected=(forward("mask-from-randn", ("cache.D1", "cache.D2"), "randn"),)),
        Mutant("dropout-randn-star-D2", forward={"draw2": "D2 = np.random.randn(*A2.shape)"},
               expected=(forward("mask-from-randn", ("cache.D2",), "np.random.randn(*A2.shape)"),)),
        Mutant("dropout-randn-one-line-D1", forward={"draw1": "D1 = np.random.randn(A1.shape[0], A1.shape[1]) < keep_prob",
                                                     "mask1": ""},
               expected=(forward("mask-from-randn", ("cache.D1",), "randn"),)),
        Mutant("dropout-inverted-both", forward={"mask1": "D1 = D1 > keep_prob", "mask2": "D2 = D2 > keep_prob"},
               expected=(forward("mask-inverted", ("cache.D1", "cache.D2"), "D1 > keep_prob"),)),
        # Two mistakes in one mask: randn compared the wrong way keeps 1 − Φ(p), each named on its own line.
        Mutant("dropout-randn-and-inverted",
               forward={**both_randn, "mask1": "D1 = D1 > keep_prob", "mask2": "D2 = D2 > keep_prob"},
               expected=(forward("mask-from-randn", ("cache.D1", "cache.D2"), "np.random.randn(A1.shape[0]"),
                         forward("mask-inverted", ("cache.D1", "cache.D2"), "D1 = D1 > keep_prob"))),
        Mutant("dropout-inverted-where-D2", forward={"mask2": "D2 = np.where(D2 >= keep_prob, 1, 0)"},
               expected=(forward("mask-inverted", ("cache.D2",), "np.where(D2 >= keep_prob, 1, 0)"),)),
        Mutant("dropout-per-neuron-column", forward={"draw1": "D1 = np.random.rand(A1.shape[0], 1)",
                                                     "draw2": "D2 = np.random.rand(A2.shape[0], 1)"},
               expected=(forward("mask-per-neuron", ("cache.D1", "cache.D2"), "np.random.rand(A1.shape[0], 1)"),)),
        # A 1-D draw applied through a transpose (a mask of shape (n,) cannot be broadcast over (n, m) as it is).
        Mutant("dropout-per-neuron-1d-transposed",
               forward={"draw1": "D1 = np.random.rand(W1.shape[0])", "apply1": "A1 = (A1.T * D1).T",
                        "draw2": "D2 = np.random.rand(W2.shape[0])", "apply2": "A2 = (A2.T * D2).T"},
               expected=(forward("mask-per-neuron", ("cache.D1", "cache.D2"), "np.random.rand(W1.shape[0])"),)),
        Mutant("dropout-per-neuron-1d-D1-only",
               forward={"draw1": "D1 = np.random.rand(W1.shape[0])", "apply1": "A1 = (A1.T * D1).T"},
               expected=(forward("mask-per-neuron", ("cache.D1",), "np.random.rand(W1.shape[0])"),)),
        Mutant("dropout-per-neuron-tiled-D2",
               forward={"draw2": "D2 = np.tile(np.random.rand(A2.shape[0], 1), (1, A2.shape[1]))"},
               expected=(forward("mask-per-neuron", ("cache.D2",), "np.tile"),)),
        Mutant("dropout-per-neuron-repeat-D1",
               forward={"draw1": "D1 = np.repeat(np.random.rand(A1.shape[0], 1), A1.shape[1], axis=1)"},
               expected=(forward("mask-per-neuron", ("cache.D1",), "np.repeat"),)),
        # Scaling.
        Mutant("dropout-not-scaled-both", forward={"scale1": "", "scale2": ""},
               expected=(forward("not-scaled", ("cache.A1",), "A1 = A1 * D1"),
                         forward("not-scaled", ("cache.A2",), "A2 = A2 * D2"))),
        Mutant("dropout-not-scaled-multiply-A2", forward={"apply2": "A2 = np.multiply(A2, D2)", "scale2": ""},
               expected=(forward("not-scaled", ("cache.A2",), "np.multiply(A2, D2)"),)),
        Mutant("dropout-times-keep-prob-A2", forward={"scale2": "A2 = A2 * keep_prob"},
               expected=(forward("scaled-by-keep-prob", ("cache.A2",), "A2 = A2 * keep_prob"),)),
        Mutant("dropout-times-keep-prob-one-line-A1", forward={"apply1": "A1 = A1 * D1 * keep_prob", "scale1": ""},
               expected=(forward("scaled-by-keep-prob", ("cache.A1",), "A1 = A1 * D1 * keep_prob"),)),
        Mutant("dropout-mask-not-applied-A1", forward={"apply1": ""},
               expected=(forward("mask-not-applied", ("cache.A1",), "A1 = A1 / keep_prob"),)),
        Mutant("dropout-mask-not-applied-one-line-A2", forward={"A2": "A2 = relu(Z2) / keep_prob", "apply2": "",
                                                                "scale2": ""},
               expected=(forward("mask-not-applied", ("cache.A2",), "A2 = relu(Z2) / keep_prob"),)),
        # keep_prob a fixed number.
        Mutant("dropout-fixed-assigned", forward={"seed": "np.random.seed(1)\nkeep_prob = 0.86"},
               expected=(forward("keep-prob-fixed", ("cache.D1", "cache.A1", "cache.D2", "cache.A2"),
                                 "keep_prob = 0.86"),)),
        Mutant("dropout-fixed-masks", forward={"mask1": "D1 = (D1 < 0.86).astype(int)", "mask2": "D2 = D2 < 0.86"},
               expected=(forward("keep-prob-fixed", ("cache.D1",), "D1 < 0.86"),
                         forward("keep-prob-fixed", ("cache.D2",), "D2 < 0.86"))),
        Mutant("dropout-fixed-division-A1", forward={"scale1": "A1 = A1 / 0.86"},
               expected=(forward("keep-prob-fixed", ("cache.A1",), "A1 = A1 / 0.86"),)),
        # Dropout on the wrong layer, and the cache.
        Mutant("dropout-on-output", forward={"A3": "A3 = sigmoid(Z3)\nD3 = np.random.rand(A3.shape[0], A3.shape[1]) "
                                                   "< keep_prob\nA3 = A3 * D3 / keep_prob"},
               expected=(forward("mask-on-output", ("A3", "cache.A3"), "A3 = A3 * D3 / keep_prob"),)),
        Mutant("dropout-on-input", forward={"Z1": "D0 = np.random.rand(*X.shape) < keep_prob\nX = X * D0 / keep_prob\n"
                                                  "Z1 = np.dot(W1, X) + b1"},
               expected=(forward("mask-on-input", ("cache.Z1",), "D0 = np.random.rand(*X.shape) < keep_prob"),)),
        Mutant("dropout-cache-before-mask", forward={"apply1": "A1_dropped = A1 * D1 / keep_prob", "scale1": "",
                                                     "Z2": "Z2 = np.dot(W2, A1_dropped) + b2"},
               expected=(forward("cache-mismatch", ("cache.A1",), "A1 = relu(Z1)"),)),
        Mutant("dropout-cache-raw-draws", forward={"mask1": "", "apply1": "A1 = A1 * (D1 < keep_prob)"},
               expected=(forward("cache-mismatch", ("cache.D1",), R1),)),
        # Backward.
        Mutant("dropout-backward-not-scaled-dA2", dropout_backward={"scale2": ""},
               expected=(backward("not-scaled", ("dA2",), "dA2 = dA2 * D2"),)),
        Mutant("dropout-backward-not-scaled-both", dropout_backward={"mask1": "dA1 = np.multiply(dA1, D1)", "scale1": "",
                                                                     "scale2": ""},
               expected=(backward("not-scaled", ("dA2",), "dA2 = dA2 * D2"),
                         backward("not-scaled", ("dA1",), "np.multiply(dA1, D1)"))),
        Mutant("dropout-backward-twice-dA2", dropout_backward={"scale2": "dA2 = dA2 / keep_prob / keep_prob"},
               expected=(backward("scaled-twice", ("dA2",), "dA2 = dA2 / keep_prob / keep_prob"),)),
        Mutant("dropout-backward-twice-squared-dA1", dropout_backward={"scale1": "dA1 = dA1 / keep_prob ** 2"},
               expected=(backward("scaled-twice", ("dA1",), "keep_prob ** 2"),)),
        Mutant("dropout-backward-mask-missing-dA1", dropout_backward={"mask1": ""},
               expected=(backward("mask-missing", ("dA1",), "dA1 = dA1 / keep_prob"),)),
        Mutant("dropout-backward-mask-missing-one-line-dA2",
               dropout_backward={"dA2": "dA2 = np.dot(W3.T, dZ3) / keep_prob", "mask2": "", "scale2": ""},
               expected=(backward("mask-missing", ("dA2",), "dA2 = np.dot(W3.T, dZ3) / keep_prob"),)),
        Mutant("dropout-backward-mask-on-dZ2",
               dropout_backward={"mask2": "", "scale2": "", "dZ2": "dZ2 = np.multiply(dA2, np.int64(A2 > 0)) * D2 / keep_prob"},
               expected=(backward("mask-on-dz", ("dA2",), "dA2 = np.dot(W3.T, dZ3)"),)),
        # The dropout lines left out (the template's other lines kept): the backward pass of a network without dropout.
        Mutant("dropout-backward-not-applied-both",
               dropout_backward={"mask2": "", "scale2": "", "mask1": "", "scale1": ""},
               expected=(backward("not-applied", ("dA2",), "dA2 = np.dot(W3.T, dZ3)"),
                         backward("not-applied", ("dA1",), "dA1 = np.dot(W2.T, dZ2)"))),
        Mutant("dropout-backward-not-applied-dA1", dropout_backward={"mask1": "", "scale1": ""},
               expected=(backward("not-applied", ("dA1",), "dA1 = np.dot(W2.T, dZ2)"),)),
        Mutant("dropout-backward-fixed-both", dropout_backward={"scale2": "dA2 = dA2 / 0.8", "scale1": "dA1 = dA1 / 0.8"},
               expected=(backward("keep-prob-fixed", ("dA2",), "dA2 = dA2 / 0.8"),
                         backward("keep-prob-fixed", ("dA1",), "dA1 = dA1 / 0.8"))),
        Mutant("dropout-backward-fixed-assigned", dropout_backward={"m": "m = X.shape[1]\nkeep_prob = 0.8"},
               expected=(backward("keep-prob-fixed", ("dA2", "dA1"), "keep_prob = 0.8"),)),
        Mutant("dropout-backward-relu-missing", dropout_backward={"dZ2": "dZ2 = dA2"},
               expected=(backward("backprop-error", ("dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"), "dZ2 = dA2"),)),
        # Several at once, in both functions.
        Mutant("dropout-combined-randn-and-backward-not-scaled", forward=both_randn, dropout_backward={"scale1": ""},
               expected=(forward("mask-from-randn", ("cache.D1", "cache.D2"), "randn"),
                         backward("not-scaled", ("dA1",), "dA1 = dA1 * D1"))),
    ]


def dropout_equivalents() -> list[Mutant]:
    """Correct dropout written differently, masks drawn differently included: full marks, no findings."""
    no_seed = {"seed": ""}
    return [
        Mutant("equivalent-dropout-star-shape", forward={"draw1": "D1 = np.random.rand(*A1.shape)",
                                                         "draw2": "D2 = np.random.rand(*A2.shape)"}),
        Mutant("equivalent-dropout-random", forward={**no_seed, "draw1": "D1 = np.random.random(A1.shape)",
                                                     "draw2": "D2 = np.random.random_sample(A2.shape)"}),
        Mutant("equivalent-dropout-other-order", forward={"draw1": "D2_early = np.random.rand(A1.shape[1] * 0 + 1)",
                                                          "mask1": "D1 = np.random.rand(A1.shape[0], A1.shape[1]) < keep_prob"}),
        Mutant("equivalent-dropout-boolean", forward={"mask1": "D1 = D1 < keep_prob", "mask2": "D2 = D2 < keep_prob"}),
        Mutant("equivalent-dropout-one-minus", forward={"mask1": "D1 = D1 > 1 - keep_prob",
                                                        "mask2": "D2 = (D2 >= 1 - keep_prob) * 1"}),
        Mutant("equivalent-dropout-binomial", forward={**no_seed, "draw1": "D1 = np.random.binomial(1, keep_prob, size=A1.shape)",
                                                       "mask1": "", "draw2": "D2 = np.random.binomial(1, keep_prob, A2.shape)",
                                                       "mask2": ""}),
        Mutant("equivalent-dropout-generator", forward={"seed": "rng = np.random.default_rng(0)",
                                                        "draw1": "D1 = rng.random(A1.shape)",
                                                        "draw2": "D2 = rng.uniform(0, 1, A2.shape)"}),
        Mutant("equivalent-dropout-one-line", forward={"apply1": "A1 = np.multiply(A1, D1) / keep_prob", "scale1": "",
                                                       "A2": "", "draw2": "D2 = np.random.rand(*Z2.shape)",
                                                       "apply2": "A2 = relu(Z2) * D2 / keep_prob", "scale2": ""}),
        Mutant("equivalent-dropout-in-place", forward={"apply1": "A1 *= D1", "scale1": "A1 /= keep_prob"}),
        Mutant("equivalent-dropout-backward-one-line",
               dropout_backward={"dA2": "dA2 = np.dot(W3.T, dZ3) * D2 / keep_prob", "mask2": "", "scale2": "",
                                 "dZ1": "dZ1 = dA1 * (Z1 > 0)", "dZ2": "dZ2 = dA2 * (A2 > 0)"}),
        Mutant("equivalent-dropout-backward-in-place", dropout_backward={"mask1": "dA1 *= D1", "scale1": "dA1 /= keep_prob"}),
    ]
