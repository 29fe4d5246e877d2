# bench_service_transport: WSPing over mutual TLS against an in-process server (keep-alive with
# 1/2/4 clients, resumed and full handshakes, 64 clients for fairness); JSON on stdout. The
# key-release step adds WSGetDiversifiedKeys to it, as a ratio to keepalive_N of the same run.
if(TARGET sekds_service)
  add_executable(bench_service_transport ${CMAKE_CURRENT_LIST_DIR}/service_transport.cpp)
  target_compile_definitions(bench_service_transport PRIVATE SEKDS_DEV_PKI="${SEKDS_SOURCE_ROOT}/certs/dev-pki.sh")
  target_link_libraries(bench_service_transport PRIVATE sekds_service CLI11::CLI11 nlohmann_json::nlohmann_json
    sekds_warnings)
endif()
