/* SPDX-License-Identifier: MIT */
#include "stats/special.h"
