"""Ready-made networks built from minicnn.nn: VGG16/VGG19 with torchvision weight loading."""
from minicnn.models.vgg import (VGG, RandomWeightsWarning, VGGWeightsError, convert_weights,  # noqa: F401
                                default_weights_path, load_vgg_weights, vgg16, vgg19, vgg_layer_names)
