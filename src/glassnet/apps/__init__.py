"""What the ``glassnet`` command runs: the demos, the train job and its config file, and
a recorded run rebuilt as a model. Each builds on the public modules; none is imported by
the engine.
"""
