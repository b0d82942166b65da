"""Writes, keyword-only ``<entity>_<action>(*, actor, ...)``: each checks who may, writes the audit
record and raises portal.errors DomainError subclasses."""
