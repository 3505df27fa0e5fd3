"""Kept so ``tfodkit.inspect.partial_decode`` imports keep working: the partial decoder lives in
:mod:`tfodkit.example.partial`, beside the full one."""

from __future__ import annotations

from tfodkit.example.partial import (
    HEAD_BYTES,
    KIND_NAMES,
    FeatureSelector,
    decode_some,
    feature_kinds,
    varint_values,
)

__all__ = ["HEAD_BYTES", "KIND_NAMES", "FeatureSelector", "decode_some", "feature_kinds", "varint_values"]
