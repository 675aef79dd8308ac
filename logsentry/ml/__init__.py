"""The small-model tier: features, router (autoencoder), LogMoE, bundles, ONNX inference.

Training uses torch (imported inside the training functions); inference
uses onnxruntime and numpy only, so the scan path never imports torch.
"""
