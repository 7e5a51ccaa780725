"""Average two exported satdet ONNX files of the same graph ("model soup").

    python training/soup.py A.onnx B.onnx OUT.onnx

Every float initializer (the folded convolution weights and biases) becomes the
elementwise mean of A's and B's; integer initializers and the graph must be identical.
The metadata is A's. Used for the E7+E8 soups (`soup_rule.txt`, model card).
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main():
    a_path, b_path, out = sys.argv[1:4]
    a, b = onnx.load(a_path), onnx.load(b_path)
    if [n.SerializeToString() for n in a.graph.node] != [n.SerializeToString() for n in b.graph.node]:
        raise SystemExit(f"{a_path} and {b_path} have different graphs")
    bi = {i.name: numpy_helper.to_array(i) for i in b.graph.initializer}
    averaged = 0
    for i, init in enumerate(a.graph.initializer):
        x, y = numpy_helper.to_array(init), bi.get(init.name)
        if y is None or y.shape != x.shape or y.dtype != x.dtype:
            raise SystemExit(f"initializer {init.name}: not the same in both files")
        if np.issubdtype(x.dtype, np.floating):
            if not np.array_equal(x, y):
                averaged += 1
            a.graph.initializer[i].CopyFrom(numpy_helper.from_array(((x + y) / 2).astype(x.dtype), init.name))
        elif not np.array_equal(x, y):
            raise SystemExit(f"initializer {init.name}: integer values differ")
    onnx.checker.check_model(a)
    onnx.save(a, out)
    print(f"{out}: {averaged} initializers averaged")


if __name__ == "__main__":
    main()
