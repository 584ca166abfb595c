/* The main job: the 60-second checklist as one report. */
#ifndef LOUPE_OVERVIEW_H
#define LOUPE_OVERVIEW_H

int overview_main(int argc, char **argv);

#endif
