"""Training and ONNX export of hyperrec's models; see models/CONTRACT.md."""
