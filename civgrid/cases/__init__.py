"""The closed-loop case workflow (SPEC §2): report, register, dispatch, handle, verify, close."""
