# bench_tsm_flows: full TSM flows per second (sekds-tsm's batch engine) against a grid of cards
# served by `sekds-card serve --grid` and the real mutual-TLS sekds server (a software TTP
# behind it), the KEK in a throwaway SoftHSM token; each goal (discover, keys, open, rotate,
# run) measured in the same run, so the ratios say where the time goes. JSON on stdout.
if(TARGET sekds_tsm AND TARGET sekds_service AND TARGET sekds-card AND TARGET sekds_test_softhsm)
  add_executable(bench_tsm_flows ${CMAKE_CURRENT_LIST_DIR}/tsm_flows.cpp ${SEKDS_SOURCE_ROOT}/tests/tsm/support.cpp
    ${SEKDS_SOURCE_ROOT}/tests/tsm/kek_sheets.cpp)
  target_include_directories(bench_tsm_flows PRIVATE ${SEKDS_SOURCE_ROOT}/tests ${SEKDS_SOURCE_ROOT}/tests/tsm)
  target_link_libraries(bench_tsm_flows PRIVATE sekds_tsm sekds_service sekds_test_softhsm nlohmann_json::nlohmann_json
    CLI11::CLI11 sekds_warnings)
  target_compile_definitions(bench_tsm_flows PRIVATE
    SEKDS_DEV_PKI="${SEKDS_SOURCE_ROOT}/certs/dev-pki.sh"
    SEKDS_CARD_BIN="$<TARGET_FILE:sekds-card>")
  add_dependencies(bench_tsm_flows sekds-card)
endif()
