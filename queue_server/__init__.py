"""Yichuang queue server: the hall's single authority over tickets and windows."""
