# fuzz: make fuzz, make fuzz-afl, the corpus replay that make test runs
