"""Where Keras 3 keeps an optimizer's state in a weights file, for reading and writing it.

Keras saves ``optimizer.variables`` under ``optimizer/vars/0, 1, ...``: the step
count, the learning rate, then the slots. Each Keras optimizer creates its slots in
blocks (``add_optimizer_variables``): a block with several names interleaves them
per trainable variable (Adam: m and v of the first variable, m and v of the
second...), and blocks follow one another (Adam's ``velocity_hat`` block with
amsgrad, RMSprop's velocity, then momentum, then average gradient blocks).
``slot_blocks`` gives that layout in glassnet's slot names; ``slot_order`` flattens
it into the list of (slot, variable index) that follows the two leading arrays.

An optimizer saved before its first step (compiled, never trained) has only the
two leading arrays: Keras skips loading it and starts fresh, and so does glassnet.
"""

from __future__ import annotations

from glassnet import optimizers as gnoptimizers


def slot_blocks(optimizer) -> list[tuple[str, ...]] | None:
    """Keras's slot layout for ``optimizer``, in glassnet's slot names; None if unknown."""
    if isinstance(optimizer, gnoptimizers.Adam):  # AdamW too
        return [("m", "v")] + ([("v_hat",)] if optimizer.amsgrad else [])
    if isinstance(optimizer, gnoptimizers.SGD):
        return [("momentum",)] if optimizer.momentum != 0 else []
    if isinstance(optimizer, gnoptimizers.RMSprop):
        return ([("velocity",)] + ([("momentum",)] if optimizer.momentum > 0 else [])
                + ([("average_gradient",)] if optimizer.centered else []))
    if isinstance(optimizer, gnoptimizers.Adagrad):
        return [("accumulator",)]
    return None


def slot_order(blocks: list[tuple[str, ...]], n_variables: int) -> list[tuple[str, int]]:
    """(slot name, trainable variable index) for ``optimizer/vars/2, 3, ...`` in order."""
    return [(slot, i) for block in blocks for i in range(n_variables) for slot in block]
