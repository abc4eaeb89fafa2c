/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Intrusive doubly linked lists, as systemd's list.h: an item has next and
 * prev pointers, the head is a plain pointer to the first item. */

#define LIST_PREPEND(head, item)                                \
        do {                                                    \
                (item)->prev = NULL;                            \
                (item)->next = (head);                          \
                if (head)                                       \
                        (head)->prev = (item);                  \
                (head) = (item);                                \
        } while (0)

#define LIST_REMOVE(head, item)                                 \
        do {                                                    \
                if ((item)->prev)                               \
                        (item)->prev->next = (item)->next;      \
                else if ((head) == (item))                      \
                        (head) = (item)->next;                  \
                if ((item)->next)                               \
                        (item)->next->prev = (item)->prev;      \
                (item)->next = (item)->prev = NULL;             \
        } while (0)

/* The same for a second list an item is on, through <field>_next and
 * <field>_prev. */
#define LIST_PREPEND_BY(field, head, item)                              \
        do {                                                            \
                (item)->field##_prev = NULL;                            \
                (item)->field##_next = (head);                          \
                if (head)                                               \
                        (head)->field##_prev = (item);                  \
                (head) = (item);                                        \
        } while (0)

#define LIST_REMOVE_BY(field, head, item)                               \
        do {                                                            \
                if ((item)->field##_prev)                               \
                        (item)->field##_prev->field##_next = (item)->field##_next; \
                else if ((head) == (item))                              \
                        (head) = (item)->field##_next;                  \
                if ((item)->field##_next)                               \
                        (item)->field##_next->field##_prev = (item)->field##_prev; \
                (item)->field##_next = (item)->field##_prev = NULL;     \
        } while (0)
