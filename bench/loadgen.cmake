# bench_loadgen: load on a running sekds-server (the dev environment of bench/run.sh) through
# service/client.h — WSPing, WSGetDiversifiedKeys, WSGetKekInfo; keep-alive, new or resumed
# connections; closed or open loop; idle connections and the server's RSS. JSON on stdout.
if(TARGET sekds_soap)
  add_executable(bench_loadgen ${CMAKE_CURRENT_LIST_DIR}/loadgen.cpp)
  target_link_libraries(bench_loadgen PRIVATE sekds_soap sekds_gp CLI11::CLI11 nlohmann_json::nlohmann_json
    Threads::Threads sekds_warnings)
endif()
