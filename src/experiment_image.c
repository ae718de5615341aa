/* placeholder */
#include "experiment.h"
int nzk_exp_images(const nzk_exp_config *cfg, json_t *doc) { (void)cfg; (void)doc; return 0; }
