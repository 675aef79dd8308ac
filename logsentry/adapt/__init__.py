"""Local adaptation: pseudo-labels, noisy-label filtering, fine-tuning, versioned bundles."""
