# nncmp — compare classification models and triage mislabeled samples in the terminal.
#
#   make            build ./nncmp (and nothing else)
#   make test       install missing packages (as root), build, run every test
#   make demo       install missing packages (as root), build, open the demo study
#   make bench      speed figures against a NumPy/scikit-learn reference
#   make bench-triage  precision of every label-issue method on noisy studies (README)
#   make asan       the test suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       run every fuzz harness for FUZZ_SECONDS each (libFuzzer, clang)
#   make install    PREFIX=/usr/local DESTDIR=
#   make format     clang-format the tree

VERSION     = 0.1.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
DESTDIR    ?=
PKG_CONFIG ?= pkg-config
CC         ?= cc
BUILD      ?= build

# libcsv ships no pkg-config file; it is linked by name. Debian's libhdf5-dev installs both
# hdf5-serial.pc and (through alternatives) hdf5.pc; other systems have only hdf5.pc.
HDF5_PKG   := $(shell $(PKG_CONFIG) --exists hdf5-serial 2>/dev/null && echo hdf5-serial || echo hdf5)
# dlopen is in libc since glibc 2.34; older ones need -ldl
DL_LIBS    := $(shell printf '\043include <dlfcn.h>\nint main(void) { return !dlopen(0, 0); }\n' | \
	$(CC) -x c -o /dev/null - 2>/dev/null || echo -ldl)
PKGS        = ncursesw libsixel inih jansson libpng zlib libxxhash
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) openblas lapacke libzip $(HDF5_PKG) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lcsv $(DL_LIBS)

# libhdf5 and libzip are not linked (with what they pull in, 34 libraries that cost every command
# ~9 ms of CPU at start-up): h5.c and npz.c dlopen them when a study first needs them
# (include/nncmp/dynlib.h), by the SONAME of the library that pkg-config's -L and -l flags would
# link, found in those -L directories, then in the compiler's. HDF5_LIBS links libhdf5 into
# test_guard and fuzz_h5 only. OpenBLAS and LAPACKE likewise (with libgfortran and LAPACK, about
# 4 ms of every command's start-up): linalg.c loads them on the first product.
READELF    ?= readelf
HDF5_LIBS  := $(shell $(PKG_CONFIG) --libs $(HDF5_PKG) 2>/dev/null)
ZIP_LIBS   := $(shell $(PKG_CONFIG) --libs libzip 2>/dev/null)
BLAS_LIBS  := $(shell $(PKG_CONFIG) --libs openblas 2>/dev/null)
LAPACKE_LIBS := $(shell $(PKG_CONFIG) --libs lapacke 2>/dev/null)
CC_LIBDIRS := $(shell $(CC) -print-search-dirs 2>/dev/null | sed -n 's/^libraries: =//p' | tr : ' ')
soname      = $(shell for d in $(patsubst -L%,%,$(filter -L%,$(1))) $(CC_LIBDIRS); do \
	f=$$d/lib$(patsubst -l%,%,$(firstword $(filter -l%,$(1)))).so; \
	if [ -e $$f ]; then $(READELF) -d $$f | sed -n 's/.*(SONAME).*\[\(.*\)\]$$/\1/p'; break; fi; \
	done)
HDF5_SONAME := $(call soname,$(HDF5_LIBS))
ZIP_SONAME  := $(call soname,$(ZIP_LIBS))
BLAS_SONAME := $(call soname,$(BLAS_LIBS))
LAPACKE_SONAME := $(call soname,$(LAPACKE_LIBS))
DYN_CFLAGS   = -DNNCMP_HDF5_SONAME='"$(HDF5_SONAME)"' -DNNCMP_ZIP_SONAME='"$(ZIP_SONAME)"' \
	       -DNNCMP_BLAS_SONAME='"$(BLAS_SONAME)"' -DNNCMP_LAPACKE_SONAME='"$(LAPACKE_SONAME)"'
TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
TEST_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef \
       -Wwrite-strings
ifneq ($(CI),)
WERROR ?= 1
endif
ifeq ($(WERROR),1)
WARN += -Werror
endif

OPT     ?= -O2 -g
CFLAGS  ?=
LDFLAGS ?=
ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -DNNCMP_VERSION='"$(VERSION)"' \
	     -Iinclude $(PKG_CFLAGS) $(DYN_CFLAGS) $(OPT) $(WARN) -pthread -MMD -MP $(CFLAGS)
ALL_LDFLAGS = -pthread $(LDFLAGS)
LIBS = $(PKG_LIBS) -lm

# src/gfx (the terminal probe and the image encoders, no curses) is a library of its own that
# both fronts and the tests link; it uses the core, so it comes first on the link line.
CORE_SRC = $(wildcard src/core/*.c)
GFX_SRC  = $(wildcard src/gfx/*.c)
CLI_SRC  = $(wildcard src/cli/*.c) $(wildcard src/tui/*.c) src/main.c
CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/%.o)
GFX_OBJ  = $(GFX_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/%.o)
LIBCORE  = $(BUILD)/libnncmp.a
LIBGFX   = $(BUILD)/libnncmp-gfx.a

UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 60

.PHONY: all test unit screen demo bench bench-triage asan ubsan fuzz install uninstall format check-format \
	clean deps-build deps-test

all: nncmp

# copy then rename: a running ./nncmp keeps its old file instead of failing the build
nncmp: $(BUILD)/nncmp
	cp $< $@.tmp && mv $@.tmp $@

$(BUILD)/nncmp: $(CLI_OBJ) $(LIBGFX) $(LIBCORE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIBGFX) $(LIBCORE) $(LIBS)

$(LIBCORE): $(CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBGFX): $(GFX_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIBGFX) $(LIBCORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests/unit -o $@ $< $(LIBGFX) $(LIBCORE) $(LIBS) $(TEST_LIBS) \
		$(ALL_LDFLAGS)

# test_guard asks libhdf5 itself whether this process holds any of its objects.
$(BUILD)/tests/test_guard: LIBS += $(HDF5_LIBS)

# test_dynlib links h5.c, npz.c and linalg.c built with sonames that do not exist (before the
# core, so that they stand in for its objects), and so does $(BUILD)/tests/nncmp-absent (for
# tests/cli/lazylibs.sh): a study that needs libhdf5 or libzip, or a product, then fails with a
# message.
DYN_ABSENT = -DNNCMP_HDF5_SONAME='"libnncmp-absent-hdf5.so.0"' \
	     -DNNCMP_ZIP_SONAME='"libnncmp-absent-zip.so.0"' \
	     -DNNCMP_BLAS_SONAME='"libnncmp-absent-blas.so.0"' \
	     -DNNCMP_LAPACKE_SONAME='"libnncmp-absent-lapacke.so.0"'
ABSENT_OBJ = $(BUILD)/tests/absent/h5.o $(BUILD)/tests/absent/npz.o $(BUILD)/tests/absent/linalg.o
$(ABSENT_OBJ): DYN_CFLAGS = $(DYN_ABSENT)
$(ABSENT_OBJ): $(BUILD)/tests/absent/%.o: src/core/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/tests/test_dynlib: tests/unit/test_dynlib.c $(ABSENT_OBJ) $(LIBGFX) $(LIBCORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests/unit -o $@ $< $(ABSENT_OBJ) $(LIBGFX) $(LIBCORE) \
		$(LIBS) $(TEST_LIBS) $(ALL_LDFLAGS)
$(BUILD)/tests/nncmp-absent: $(CLI_OBJ) $(ABSENT_OBJ) $(LIBGFX) $(LIBCORE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(ABSENT_OBJ) $(LIBGFX) $(LIBCORE) $(LIBS)

# Unit tests of the TUI's parts (test_keys: its tables; test_worker: its worker thread) link its
# objects and the CLI's, without main.
TUI_UNIT = $(BUILD)/tests/test_keys $(BUILD)/tests/test_worker
TUI_OBJ  = $(filter-out $(BUILD)/src/main.o,$(CLI_OBJ))
$(TUI_UNIT): $(BUILD)/tests/%: tests/unit/%.c $(TUI_OBJ) $(LIBGFX) $(LIBCORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests/unit -o $@ $< $(TUI_OBJ) $(LIBGFX) $(LIBCORE) $(LIBS) \
		$(TEST_LIBS) $(ALL_LDFLAGS)

deps-build:
	@tools/deps.sh build
deps-test:
	@tools/deps.sh test

# Each unit test binary runs from the top of the tree so it can find demo-data/ and tests/data/.
unit: $(UNIT_BIN) $(BUILD)/nncmp $(BUILD)/tests/nncmp-absent
	@fail=0; for t in $(UNIT_BIN); do echo "== $$t"; NNCMP=$(BUILD)/nncmp $$t || fail=1; done; \
		exit $$fail

test: deps-test
	$(MAKE) all unit
	tests/cli/run.sh ./nncmp
	tests/cli/usage.sh ./nncmp
	tests/cli/formats.sh ./nncmp
	tests/cli/plurals.sh ./nncmp
	NNCMP_ABSENT=$(BUILD)/tests/nncmp-absent tests/cli/lazylibs.sh ./nncmp
	tests/readme/run.sh ./nncmp
	tests/badinput/run.sh ./nncmp
	tests/formats/run.sh ./nncmp
	NNCMP=./nncmp tests/export/run.sh
	tests/install/run.sh
	tests/issues/run.sh ./nncmp
	tests/stats/run.sh ./nncmp
	tests/core/run.sh ./nncmp
	tests/report/run.sh ./nncmp
	tests/dups/run.sh ./nncmp
	tests/saliency/run.sh ./nncmp
	tests/journal/run.sh ./nncmp
	tests/images/run.sh ./nncmp
	tests/terminal/run.sh ./nncmp
	tests/terminal/faults.sh ./nncmp
	tests/screen/run.sh ./nncmp
	tests/screen/triage.sh ./nncmp
	tests/screen/review_trust.sh ./nncmp
	tests/screen/busy_review.sh ./nncmp
	tests/screen/views.sh ./nncmp
	tests/screen/classnames.sh ./nncmp
	tests/screen/numbers.sh ./nncmp
	tests/screen/moving.sh ./nncmp
	tests/screen/keys.sh ./nncmp
	tests/screen/plurals.sh ./nncmp
	tests/screen/h5_damaged.sh ./nncmp
	tests/screen/saved.sh ./nncmp
	tests/screen/bylabel.sh ./nncmp
	tests/screen/many.sh ./nncmp
	tests/screen/manyviews.sh ./nncmp
	tests/screen/saliency.sh ./nncmp
	tests/screen/cnnviews.sh ./nncmp
	tests/screen/kernels.sh ./nncmp
	tests/screen/firstframe.sh ./nncmp
	tests/screen/follow_models.sh ./nncmp
	tests/screen/layout.sh ./nncmp

# On a terminal this opens the TUI (q quits); piped, it prints the report.
DEMO ?= demo-data/digits
demo: deps-build
	$(MAKE) all
	./nncmp $(DEMO)

# bench_ops times the core's operations in one process, as the TUI runs them.
# make bench SCALE="100000 1000000 4000000" prints the README's scale table instead.
bench:
	@tools/deps.sh bench
	$(MAKE) all $(BUILD)/bench_ops
	$(if $(SCALE),tools/bench_scale.sh $(SCALE),NNCMP_BENCH_OPS=$(BUILD)/bench_ops tools/bench.sh)

# The noisy studies are generated once into $(BUILD)/bench-triage/seed-S, one set per seed of
# TRIAGE_SEEDS (again when the generator changes; the sets are independent and made one per core
# at a time); every run scores them with the current ./nncmp, each study by its mean over the sets.
TRIAGE_DIR   = $(BUILD)/bench-triage
TRIAGE_SEEDS ?= 13 14 15 16 17 18 19 20 21 22 23 24 25 26
TRIAGE_SETS  = $(foreach s,$(TRIAGE_SEEDS),$(TRIAGE_DIR)/seed-$(s))
bench-triage:
	@tools/deps.sh bench-triage
	$(MAKE) all
	$(MAKE) -j$$(nproc) $(addsuffix /.generated,$(TRIAGE_SETS))
	/usr/bin/python3 tools/bench_triage.py eval $(TRIAGE_SETS) ./nncmp

$(TRIAGE_DIR)/seed-%/.generated: tools/bench_triage.py
	rm -rf $(TRIAGE_DIR)/seed-$*
	mkdir -p $(TRIAGE_DIR)
	@echo "generating the studies of seed $* (a few minutes; log: $(TRIAGE_DIR)/seed-$*.log)"
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench_triage.py gen \
		$(TRIAGE_DIR)/seed-$* --seed $* > $(TRIAGE_DIR)/seed-$*.log
	touch $@

$(BUILD)/bench_ops: tools/bench_ops.c $(LIBCORE)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBCORE) $(LIBS) $(ALL_LDFLAGS)

# The sanitized binary is build-asan/nncmp; ./nncmp stays the normal build.
asan: deps-test
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(MAKE) BUILD=build-asan \
		OPT='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all' LDFLAGS='-fsanitize=address,undefined' unit
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/cli/run.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/cli/formats.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		NNCMP_ABSENT=build-asan/tests/nncmp-absent tests/cli/lazylibs.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/badinput/run.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/formats/run.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/run.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/triage.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/review_trust.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/busy_review.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/classnames.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/numbers.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/saliency.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/stats/run.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/core/run.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/report/run.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/moving.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/keys.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/plurals.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/h5_damaged.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/saved.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/bylabel.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/many.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/manyviews.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/cnnviews.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/kernels.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/screen/firstframe.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/cli/plurals.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/dups/run.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/saliency/run.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/journal/run.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/terminal/run.sh build-asan/nncmp
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/terminal/faults.sh build-asan/nncmp

ubsan: asan

# make fuzz FUZZ=fuzz_theme FUZZ_SECONDS=600 runs one harness. fuzz_theme and fuzz_config test
# readers in src/tui/, so they link the TUI's sources (and ncursesw) besides the core's.
# libhdf5 (not instrumented) asks malloc for absurd sizes on malformed files and copes with
# NULL, as under glibc: fuzz_h5 runs with allocator_may_return_null (and links libhdf5, whose
# object count it checks; h5.c itself dlopens it, the same library); tests/fuzz/lsan.supp
# leaves out leaks inside libhdf5. Its forked checks crash on purpose: allow_user_segv_handler
# lets the child die of the signal quietly, and artifacts (also of a child out of libFuzzer's
# malloc limit) go to build/fuzz, not the top of the tree.
FUZZ_CC ?= clang
FUZZ    ?= $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_TUI = fuzz_theme fuzz_config
fuzz: $(CORE_SRC) $(GFX_SRC)
	@mkdir -p $(BUILD)/fuzz
	@for n in $(FUZZ); do \
		f=tests/fuzz/$$n.c; \
		[ -f $$f ] || { echo "fuzz: no harness $$f" >&2; exit 2; }; \
		case " $(FUZZ_TUI) " in *" $$n "*) extra="$(wildcard src/tui/*.c)" ;; *) extra= ;; esac; \
		case $$n in fuzz_h5) extra="$$extra $(HDF5_LIBS)" ;; esac; \
		echo "== $$n ($(FUZZ_SECONDS) s)"; \
		$(FUZZ_CC) -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Iinclude $(PKG_CFLAGS) \
			$(DYN_CFLAGS) \
			-g -O1 -fsanitize=fuzzer,address,undefined -o $(BUILD)/fuzz/$$n $$f $(CORE_SRC) $(GFX_SRC) \
			$$extra $(LIBS) -pthread || exit 1; \
		mkdir -p tests/fuzz/corpus-work/$$n; \
		case $$n in fuzz_h5) asan=allocator_may_return_null=1:allow_user_segv_handler=1 ;; \
			*) asan= ;; esac; \
		ASAN_OPTIONS=$$asan LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp \
		$(BUILD)/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -timeout=5 -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/$$n- \
			tests/fuzz/corpus-work/$$n tests/fuzz/seeds/$$n || exit 1; \
	done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/nncmp/themes $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(DATADIR)/bash-completion/completions \
		$(DESTDIR)$(DATADIR)/zsh/site-functions
	install -m 755 nncmp $(DESTDIR)$(BINDIR)/nncmp
	@if ls themes/*.ini >/dev/null 2>&1; then install -m 644 themes/*.ini \
		$(DESTDIR)$(DATADIR)/nncmp/themes/; fi
	install -m 644 doc/nncmp.1 $(DESTDIR)$(MANDIR)/man1/nncmp.1
	install -m 644 completion/nncmp.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/nncmp
	install -m 644 completion/_nncmp $(DESTDIR)$(DATADIR)/zsh/site-functions/_nncmp
	@if [ -f tools/nncmp_export.py ]; then \
		echo install -m 755 tools/nncmp_export.py $(DESTDIR)$(DATADIR)/nncmp/nncmp_export.py; \
		install -m 755 tools/nncmp_export.py $(DESTDIR)$(DATADIR)/nncmp/nncmp_export.py; fi

# Removes what install put, and $(DATADIR)/nncmp when nothing else is left in it.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nncmp $(DESTDIR)$(MANDIR)/man1/nncmp.1 \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/nncmp \
		$(DESTDIR)$(DATADIR)/zsh/site-functions/_nncmp \
		$(DESTDIR)$(DATADIR)/nncmp/nncmp_export.py
	@for f in themes/*.ini; do [ -f "$$f" ] || continue; \
		echo rm -f $(DESTDIR)$(DATADIR)/nncmp/themes/$${f##*/}; \
		rm -f $(DESTDIR)$(DATADIR)/nncmp/themes/$${f##*/}; done
	-@rmdir $(DESTDIR)$(DATADIR)/nncmp/themes $(DESTDIR)$(DATADIR)/nncmp 2>/dev/null || true

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan nncmp

-include $(CORE_OBJ:.o=.d) $(GFX_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
