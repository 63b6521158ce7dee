"""待遇与发放: active benefits, their history, and the monthly payment rolls (发放名册)."""
