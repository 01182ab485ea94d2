# Run at install time (install(CODE) in CMakeLists.txt): writes
# dnsprop@.service with the path the binary is installed to, which is known
# only now (cmake --install --prefix, and CPack's /usr, may differ from the
# prefix the tree was configured with), and installs it with DESTDIR honoured
# and the file recorded in install_manifest.txt.
set(DNSPROP_BIN "${CMAKE_INSTALL_PREFIX}/${DNSPROP_BINDIR}/dnsprop")
configure_file("${DNSPROP_SRC}/dist/systemd/dnsprop@.service.in"
               "${DNSPROP_OUT}/dnsprop@.service" @ONLY)
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
     FILES "${DNSPROP_OUT}/dnsprop@.service" "${DNSPROP_SRC}/dist/systemd/dnsprop@.timer")
