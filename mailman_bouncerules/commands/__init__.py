"""`mailman` sub-commands, found by Mailman through the component package."""
