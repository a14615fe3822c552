"""Helpers the whole test suite shares: threads, waits, sockets, requests."""
