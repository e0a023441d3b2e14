# examples: make run, make screenshot (rules for the example programs are in ../Makefile)
