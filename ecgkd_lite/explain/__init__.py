"""Explanations: Grad-CAM saliency over time and its localisation against synthetic ground truth.

>>> maps = grad_cam(student, x_test, target=class_index)            # (N, T) in [0, 1]
>>> localisation_scores(maps, region_masks(test, "AMI", index))     # pointing game, energy inside
"""

from .gradcam import grad_cam, normalise_maps
from .localisation import localisation_scores, region_masks

__all__ = ["grad_cam", "normalise_maps", "localisation_scores", "region_masks"]
