"""Diagnosis: pure rules over (snapshot, knowledge) that produce findings."""
