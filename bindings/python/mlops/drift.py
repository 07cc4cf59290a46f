# SPDX-License-Identifier: MIT
"""Store methods of this module (mixed into mlops.Store)."""


class DriftMixin:
    pass
