"""Harvesting: the DCAT-AP-SE catalogue, the dumps and the VoID description."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["Catalogue"])
