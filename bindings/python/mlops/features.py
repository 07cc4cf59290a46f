# SPDX-License-Identifier: MIT
"""Store methods of this module (mixed into mlops.Store)."""


class FeaturesMixin:
    pass
