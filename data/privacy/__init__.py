"""The privacy request desk: intake, the request clock, the state machine and its fulfilment
steps (access package, correction, opt-outs), the queue and the legal disclosures register.

Importing the package registers its own tables (``data.privacy.models``) on the shared metadata.
"""

from data.privacy import models as models  # registers privacy_correction
