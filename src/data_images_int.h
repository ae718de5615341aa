/* data_images_int.h: internals shared by the .c files of the data_images
 * module (data_idx.c, data_cifar.c, data_tiny.c, data_locate.c).  Not part
 * of the public API; include data_images.h instead. */
#ifndef NZK_DATA_IMAGES_INT_H
#define NZK_DATA_IMAGES_INT_H

#include "data_images.h"

#include <stdio.h>

/* An opened data set split.  The format's open function fills n,
 * n_classes, class_names, labels and the three operations; members are
 * built from labels on first use (data_locate.c). */
struct nzk_imageset {
  const nzk_dataset_info *info;
  char dir[1024];
  char split[8];
  size_t n, n_classes;
  char **class_names;    /* n_classes strings, owned */
  size_t *labels;        /* n class indices, owned */
  size_t **members;      /* per class, built lazily */
  size_t *member_count;
  unsigned char *buf;    /* fetch buffer, owned */
  size_t buf_len;
  void *impl;            /* format state */
  int (*fetch)(nzk_imageset *s, size_t index, nzk_image *img);
  void (*item_name)(const nzk_imageset *s, size_t index, char *buf, size_t len);
  /* Where images of class k would be: used in the "no images" error. */
  void (*class_where)(const nzk_imageset *s, size_t k, char *buf, size_t len);
  void (*close)(nzk_imageset *s);
};

/* Format open functions: s->info, s->dir and s->split are set. */
int nzk_imageset_open_idx(nzk_imageset *s);
int nzk_imageset_open_cifar(nzk_imageset *s);
int nzk_imageset_open_tiny(nzk_imageset *s);

/* Make s->buf at least len bytes. */
int nzk_imageset_reserve(nzk_imageset *s, size_t len);
/* Allocate s->class_names from a list of n C strings (copied). */
int nzk_imageset_set_class_names(nzk_imageset *s, const char *const *names, size_t n);

/* dir + "/" + name into buf; GSL_EFAILED if it does not fit. */
int nzk_data_path(char *buf, size_t len, const char *dir, const char *name);
/* 1 if path names an existing regular file or directory. */
int nzk_data_exists(const char *path);
/* The first of dir/name, dir/name.gz that exists, into buf; 0 if found,
 * else GSL_EFAILED "<dir>/<name>[.gz]: no such file". */
int nzk_data_find_file(char *buf, size_t len, const char *dir, const char *name);

#endif
