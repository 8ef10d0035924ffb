"""Use cases of the live service over the scoring core and the store, with no HTTP in them:
the API and the command line both call these modules."""

from leadscore.service import kernel_rescore  # registers the bulk path of scoring.rescore

__all__ = ["kernel_rescore"]
