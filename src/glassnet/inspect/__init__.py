"""Look at a live model's weights and biases: describe, trace, gradients, diagnose, importance.

``describe(model)`` summarises every kernel and bias; ``trace(model, x[, y])`` shows
forward (and backward) propagation with the numbers; ``gradients`` and
``check_gradients`` give and verify dL/dW; ``diagnose`` finds the common problems
(symmetric start, dead or saturated units, vanishing gradients, bad learning rate,
non-finite weights, dominant biases, a badly started output bias); ``importance``
ranks the input features. Everything returns Tables or plain data and prints nothing.
"""

from glassnet.inspect.describe import describe
from glassnet.inspect.diagnose import Finding, diagnose, findings_table
from glassnet.inspect.gradcheck import check_gradients, gradients
from glassnet.inspect.importance import importance
from glassnet.inspect.stats import summarize
from glassnet.inspect.trace import Trace, trace

__all__ = ["Finding", "Trace", "check_gradients", "describe", "diagnose", "findings_table",
           "gradients", "importance", "summarize", "trace"]
