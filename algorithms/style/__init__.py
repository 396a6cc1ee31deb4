"""Neural style transfer, the parts that are not arithmetic.

The computation itself (VGG features, Gram matrices, losses, optimiser) lives in
``algorithms/style_transfer.py`` (on minicnn) and, line for line, in its PyTorch
twin ``reference/style_transfer.py``. Both hand it to the same plumbing here, so
the two can only differ in their numbers, never in what they do:

* ``options.py`` - every option with its default, checked before any work
  (layer names, weights, sizes, memory), and the VGG layer tables.
* ``prepare.py`` - loading and resizing the content/style/init images for each
  scale of a coarse-to-fine run (NumPy only, shared by both twins).
* ``driver.py``  - the optimisation loop: L-BFGS or Adam steps, the record of
  losses, the best image, progress bar, intermediate images, Ctrl-C, plots.
"""
