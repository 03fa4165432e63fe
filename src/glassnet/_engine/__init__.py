"""The engine's machinery, private: users import the Keras-named modules above it.

The trainer loop (``training``, ``graph_training``, ``fit_steps``), the BLAS binding and
its fused products (``blas``), the checks made once before a loop (``data_checks``,
``config_checks``, ``nonfinite``), name resolution (``resolve``) and the plain text table
(``table``). The public modules read as the textbook and call into these; nothing here
imports a floor above the models.
"""
