# mk/deps.mk - set-up (issue 10): "make demo", "make test" and "make bench"
# first make sure the Debian packages they need are installed
# (scripts/deps.sh: installs them as root, else prints the one command to
# run).  Included at the end of the Makefile, after the object lists.
DEPS_SETS := $(filter demo test bench,$(MAKECMDGOALS))

# Before anything of these goals is built (order-only: nothing rebuilds).
ifneq ($(DEPS_SETS),)
$(RT_OBJ) $(CLI_OBJ) $(TA_OBJ) $(TESTLIB) $(LIB) $(BIN) $(UNIT_BIN) $(STRESS_BIN) $(TSAN_TESTS): | deps
endif
demo test bench: | deps

deps:
	@bash scripts/deps.sh $(or $(DEPS_SETS),test)

.PHONY: deps
