"""Voting: the methods, the rounds (match, poll, veto) and their commands."""
