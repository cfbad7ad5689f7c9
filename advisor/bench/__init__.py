"""`advisor bench`: measure this machine in the target interpreter and calibrate the estimates."""
