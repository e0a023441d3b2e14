# bench: make bench
