// Schedules as text: one line per stage, actions separated by spaces ("0F0 0SA0 0F1 ...").
// Golden tests pin generators with it, and the grid form shows where each stage stands when
// a run stops (the simulator on deadlock; the engine on a broken precondition).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "pipeline/action.h"

namespace augur {

// Line r holds stage r's list; lines end with '\n'.
std::string format_action_lists(const std::vector<std::vector<Action>>& lists);
std::string format_schedule(const Schedule& schedule);

// Reads the text form back. Line r must hold only actions of stage r; a line may be empty
// (a stage with nothing to do). Throws naming the line and the token.
std::vector<std::vector<Action>> parse_action_lists(const std::string& text);

// One line per stage: "stage r [p/n]: ... a b [c] d ..." with the action at positions[r]
// bracketed and `context` actions either side (elided with "..."); a finished stage shows
// "done". `note[r]`, when given and not empty, is appended to the line.
std::string format_grid(const Schedule& schedule, const std::vector<size_t>& positions,
                        const std::vector<std::string>& notes = {}, size_t context = 6);

}  // namespace augur
