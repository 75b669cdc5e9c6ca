"""cosmo-blocks: datatrove blocks for Cosmopedia-style synthetic pre-training data.

seeds -> prompts -> generation -> filters -> writers; every block is a datatrove PipelineStep.
"""

__version__ = "0.1.0"
