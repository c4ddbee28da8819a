"""Reaching the actors: waves opened for answers by personal link (and, later, invitations and reminders)."""
