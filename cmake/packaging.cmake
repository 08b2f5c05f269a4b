# Install rules and the Debian package: `cpack -G DEB` in the build directory writes
# signalink_<version>_<arch>.deb there. Layout (the package installs under the prefix /usr):
#   /usr/bin/signalink, /usr/bin/signalink-bench
#   /usr/share/signalink/...        the served files (${SL_SHARE_DIR}); the binary finds them at
#                                   <its directory>/../share/signalink (runtime.cpp: locate_share_dir)
#   /usr/share/doc/signalink/       README.md, copyright
#   /lib/systemd/system/            signalink.service (every role) and one unit per role
#   /usr/lib/sysusers.d/signalink.conf, /etc/signalink/signalink.env (conffile)
# The system files use absolute destinations: they belong where systemd and dpkg look, whatever the
# prefix. Files and maintainer scripts: packaging/README.md.

set(sl_packaging_dir ${PROJECT_SOURCE_DIR}/packaging)

install(TARGETS signalink signalink-bench RUNTIME DESTINATION bin)
install(DIRECTORY ${SL_SHARE_DIR}/ DESTINATION share/signalink)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${sl_packaging_dir}/deb/copyright DESTINATION share/doc/signalink)

# Debian wants a changelog whose top entry is the packaged version: a version bump without an
# entry fails here rather than producing a package that contradicts its own history.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${sl_packaging_dir}/deb/changelog)
file(STRINGS ${sl_packaging_dir}/deb/changelog sl_changelog_top LIMIT_COUNT 1)
if(NOT sl_changelog_top MATCHES "^signalink \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "packaging/deb/changelog: the first entry must be version ${PROJECT_VERSION}, "
                      "found: ${sl_changelog_top}")
endif()
# gzip -9n: the best compression and no timestamp in the header, as Debian policy asks.
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/packaging)
set(sl_changelog_gz ${PROJECT_BINARY_DIR}/packaging/changelog.gz)
execute_process(COMMAND gzip -9nc ${sl_packaging_dir}/deb/changelog OUTPUT_FILE ${sl_changelog_gz}
                COMMAND_ERROR_IS_FATAL ANY)
install(FILES ${sl_changelog_gz} DESTINATION share/doc/signalink)
install(FILES ${sl_packaging_dir}/deb/lintian-overrides DESTINATION share/lintian/overrides RENAME signalink)

# sl_systemd_unit(NAME COMMAND DESCRIPTION CONFLICTS...): one unit from the shared template, so
# every unit gets the same user, environment file and hardening.
set(sl_units_dir ${PROJECT_BINARY_DIR}/packaging/systemd)
function(sl_systemd_unit name command description)
  set(SL_UNIT_NAME ${name})
  set(SL_UNIT_COMMAND ${command})
  set(SL_UNIT_DESCRIPTION ${description})
  list(JOIN ARGN " " SL_UNIT_CONFLICTS)
  configure_file(${sl_packaging_dir}/systemd/signalink.service.in ${sl_units_dir}/${name} @ONLY)
endfunction()

set(sl_role_units)
foreach(role IN ITEMS api gateway analytics notifier)
  list(APPEND sl_role_units signalink-${role}.service)
  sl_systemd_unit(signalink-${role}.service ${role} "Signalink ${role} role" signalink.service)
endforeach()
sl_systemd_unit(signalink.service serve "Signalink messaging server (every role)" ${sl_role_units})
list(TRANSFORM sl_role_units PREPEND ${sl_units_dir}/)
install(FILES ${sl_units_dir}/signalink.service ${sl_role_units} DESTINATION /lib/systemd/system)

install(FILES ${sl_packaging_dir}/signalink.sysusers DESTINATION /usr/lib/sysusers.d RENAME signalink.conf)
# Readable by root only: it may hold SECRET_KEY and database passwords, and systemd reads it as root.
install(FILES ${sl_packaging_dir}/signalink.env DESTINATION /etc/signalink
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)

set(sl_conffiles ${PROJECT_BINARY_DIR}/packaging/conffiles)
file(WRITE ${sl_conffiles} "/etc/signalink/signalink.env\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME signalink)
set(CPACK_PACKAGE_VENDOR "Signalink")
set(CPACK_PACKAGE_CONTACT "Signalink maintainers <maintainers@users.noreply.r-seed-f5088828.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "real-time messaging server")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# <name>_<version>_<arch>.deb, the name the Dockerfile globs.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The extended description; CPack puts CPACK_PACKAGE_DESCRIPTION_SUMMARY before it as the synopsis.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Signalink serves channels of messages over a REST API and a WebSocket gateway,
with an outbox-fed event log, analytics and notifications, on SQLite or
PostgreSQL, optionally scaled out over Redis and Kafka. The package runs it as
the systemd service signalink.service, or one unit per role.")
# The libraries the binaries link (dpkg-shlibdeps) plus what the maintainer scripts run.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${sl_packaging_dir}/deb/postinst ${sl_packaging_dir}/deb/prerm ${sl_packaging_dir}/deb/postrm ${sl_conffiles})
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
