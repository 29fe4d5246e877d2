# bench_card_grid: full TSM card flows per second over the grid's TCP line protocol (in-process
# server, SQLite grid file), against bare round trips on the same connections; JSON on stdout.
if(TARGET sekds_card)
  add_executable(bench_card_grid ${CMAKE_CURRENT_LIST_DIR}/card_grid.cpp)
  target_link_libraries(bench_card_grid PRIVATE sekds_card CLI11::CLI11 nlohmann_json::nlohmann_json Threads::Threads
    sekds_warnings)
endif()
