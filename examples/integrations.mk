# examples/integrations.mk - the examples that run ws.h inside other people's libraries
# (included by examples/examples.mk):
#   $(BUILD)/uv_echo      examples/uv_echo.c on libuv's loop, -luv    (Debian: libuv1-dev)
#   $(BUILD)/mhd_server   examples/mhd_server.c, ws.h inside GNU libmicrohttpd, -lmicrohttpd
#                         (Debian: libmicrohttpd-dev)
# Without the library's header each one still builds, as a program that names the package
# to install and exits 2 (make prints a line saying so; its test reports a skip).
#   WS_UV= / WS_MHD=    build those stubs even where the library is installed
# The explicit rules here take the place of ../Makefile's generic one, which links nothing.

WS_UV  ?= $(if $(wildcard /usr/include/uv.h),yes)
WS_MHD ?= $(if $(wildcard /usr/include/microhttpd.h),yes)

# the stamp names the library's state, so installing it later rebuilds the program
$(BUILD)/uv_echo: examples/uv_echo.c ws.h $(wildcard examples/*.h) \
                  $(BUILD)/.uv-$(or $(WS_UV),no) | $(BUILD)
	$(if $(WS_UV),,@echo "uv_echo: no <uv.h>: building a stub that says so (apt-get install libuv1-dev)")
	$(CC) $(WARN) -O2 -g -I. $(if $(WS_UV),,-DNO_LIBUV) $< -o $@ $(if $(WS_UV),-luv)

$(BUILD)/mhd_server: examples/mhd_server.c ws.h $(wildcard examples/*.h) \
                     $(BUILD)/.mhd-$(or $(WS_MHD),no) | $(BUILD)
	$(if $(WS_MHD),,@echo "mhd_server: no <microhttpd.h>: building a stub that says so (apt-get install libmicrohttpd-dev)")
	$(CC) $(WARN) -O2 -g -I. $(if $(WS_MHD),,-DNO_LIBMICROHTTPD) $< -o $@ $(if $(WS_MHD),-lmicrohttpd)

$(BUILD)/.uv-yes $(BUILD)/.uv-no $(BUILD)/.mhd-yes $(BUILD)/.mhd-no: | $(BUILD)
	@rm -f $(if $(filter %-yes,$@),$(@:-yes=-no),$(@:-no=-yes))
	@touch $@
